/** The two public sample responses used as record templates (copied into ../fixtures, see SOURCES.md). */
import { readFileSync } from 'node:fs';

function load(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as unknown;
}

export type Json = Record<string, unknown>;

let breach: Json | undefined;
let aiEvents: Json[] | undefined;

export function breachTemplate(): Json {
  breach ??= (load('modelbreaches.sample.json') as Json[])[0] as Json;
  return breach;
}

export function aiEventTemplates(): Json[] {
  aiEvents ??= load('aianalyst_incidentevents.sample.json') as Json[];
  return aiEvents;
}
