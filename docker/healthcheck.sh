#!/bin/sh
# HEALTHCHECK of the image (also named by docker-compose.yml): GET /ready of the collector's web
# service with node's own fetch -- slim images have no curl. Exit 0 healthy (ready: every enabled
# service and every output ok), 1 unhealthy (503 with the reasons, or no answer); the same
# semantics as /ready in docs/operations.md ("Readiness"). /health is liveness only.
# HEALTHCHECK_URL overrides the address when globals.web_service.port is not 3000 (or points the
# check at /health for liveness only).
exec node -e "fetch(process.env.HEALTHCHECK_URL||'http://127.0.0.1:3000/ready',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
