"""The metrics collector: it polls each published video of a connected project at its marks
and writes what the platform answers as metric snapshots (contract §12).

- `platform`: the interface a video platform implements (YouTube first), and its failures;
- `youtube`: the YouTube implementation, over Google's OAuth, Data API v3 and Analytics API v2.

The passes themselves (which videos are due, the quota, the snapshots) are in
`learning_loop.services.collector`.
"""
