/** The environment variable that tells a forked copy of dist/main.js which worker it is (no imports: main.ts reads it before loading anything). */
export const ROLE_ENV = 'DEVO_COLLECTOR_ROLE';
