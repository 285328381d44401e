#!/usr/bin/env node
// A second, independent OCPP 1.6 Central System for the integration tests:
// ocpp-rpc in strict mode validates every message (both directions) with its
// own OCPP 1.6 JSON schemas. Protocol on stdout (one JSON object a line):
//   READY <port>
//   {"ev":"call","action":..,"params":..}          a CALL from the station
//   {"ev":"violation",...}                          a strict-mode failure / bad message
//   {"ev":"result","id":N,"result":..} / {"ev":"error","id":N,...}
// stdin: {"call":"GetConfiguration","params":{...},"id":N} sends a CALL to the station.
'use strict';
const readline = require('readline');
const { RPCServer } = require('ocpp-rpc');

function out(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }
function errInfo(e) {
    if (!e) return null;
    return { name: e.name, code: e.rpcErrorCode, message: e.message, details: e.details };
}

let client = null;
let txId = 0;
const server = new RPCServer({ protocols: ['ocpp1.6'], strictMode: true });

server.on('client', (cli) => {
    client = cli;
    out({ ev: 'connect', identity: cli.identity, protocol: cli.protocol });
    cli.on('strictValidationFailure', (f) => {
        out({ ev: 'violation', kind: 'strict', method: f.method, outbound: f.outbound,
              isCall: f.isCall, params: f.params, error: errInfo(f.error) });
    });
    cli.on('badMessage', (b) => {
        out({ ev: 'violation', kind: 'badMessage', payload: String(b.buffer),
              error: errInfo(b.error) });
    });
    cli.on('call', (c) => {
        if (!c.outbound) out({ ev: 'call', action: c.payload[2], params: c.payload[3] });
    });
    cli.on('close', () => { out({ ev: 'close' }); if (client === cli) client = null; });

    const now = () => new Date().toISOString();
    cli.handle('BootNotification', () => ({ status: 'Accepted', interval: 300, currentTime: now() }));
    cli.handle('Heartbeat', () => ({ currentTime: now() }));
    cli.handle('StatusNotification', () => ({}));
    cli.handle('Authorize', () => ({ idTagInfo: { status: 'Accepted' } }));
    cli.handle('StartTransaction', () => ({ transactionId: ++txId, idTagInfo: { status: 'Accepted' } }));
    cli.handle('StopTransaction', () => ({}));
    cli.handle('MeterValues', () => ({}));
    cli.handle('DataTransfer', () => ({ status: 'Accepted' }));
    cli.handle(({ method }) => {
        out({ ev: 'violation', kind: 'unhandled', method });
        const { createRPCError } = require('ocpp-rpc');
        throw createRPCError('NotImplemented');
    });
});

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
    let req;
    try { req = JSON.parse(line); } catch (e) { out({ ev: 'error', id: null, message: 'bad json' }); return; }
    if (!client) { out({ ev: 'error', id: req.id, message: 'no station connected' }); return; }
    try {
        const result = await client.call(req.call, req.params || {}, { callTimeoutMs: 10000 });
        out({ ev: 'result', id: req.id, result });
    } catch (e) {
        out({ ev: 'error', id: req.id, error: errInfo(e) });
    }
});
rl.on('close', () => { server.close({ force: true }).finally(() => process.exit(0)); });

server.listen(0, '127.0.0.1').then((http) => {
    process.stdout.write('READY ' + http.address().port + '\n');
}).catch((e) => { console.error(e); process.exit(1); });
