# OCPP 1.6-J client: transport, RPC framing, the operations registry, journal.
#   ws      WebSocket client (RFC 6455): frame codec + async WSClient, URLs,
#           reconnect backoff, keepalive pings
#   sha1    SHA-1 fallback for the handshake on builds without hashlib.sha1
#   rpc     OCPP-J framing: parse / call / result / error, IdGen, Pending
#   schema  payload table of OCPP 1.6 + validator giving CALLERROR codes
