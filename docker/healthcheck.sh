#!/bin/sh
# HEALTHCHECK of the image (also named by docker-compose.yml): GET /health of the collector's web
# service with node's own fetch -- slim images have no curl. Exit 0 healthy, 1 unhealthy.
# HEALTHCHECK_URL overrides the address when globals.web_service.port is not 3000.
exec node -e "fetch(process.env.HEALTHCHECK_URL||'http://127.0.0.1:3000/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
