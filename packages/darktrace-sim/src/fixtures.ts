/**
 * The two public sample responses used as record templates (copied into ../fixtures, see
 * SOURCES.md). Imported as JSON modules so the bundled dist/darktrace-sim.js carries them.
 */
import breachSample from '../fixtures/modelbreaches.sample.json' with { type: 'json' };
import aiEventSample from '../fixtures/aianalyst_incidentevents.sample.json' with { type: 'json' };

export type Json = Record<string, unknown>;

export function breachTemplate(): Json {
  return (breachSample as unknown as Json[])[0] as Json;
}

export function aiEventTemplates(): Json[] {
  return aiEventSample as unknown as Json[];
}
