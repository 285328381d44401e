# Feature services above the safety core: sessions, authorization, metering,
# energy management, indicators (docs/architecture.md, layers). Nothing is imported here.
