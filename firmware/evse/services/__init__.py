# Feature services above the safety core: sessions, authorization, metering,
# energy management, indicators (ARCHITECTURE.md, layers). Nothing is imported here.
