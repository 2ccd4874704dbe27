/**
 * Lookup puller (devices): every period, the whole inventory, diffed against the one last sent
 * (persisted in the service's state), sent as one lookup job: a FULL the first time, then an INC
 * with what changed and DELETE rows for what is gone, nothing when nothing changed. The new
 * inventory is committed only after the job's batch is acknowledged durable (the ack chain the
 * other pullers use): a crash before that sends the same diff again at the next start.
 */
import { buildLookupBatch } from '../delivery/lookup-batch.js';
import { DEVICE_COLUMNS, DEVICE_KEY_INDEX, deviceRow } from './device-inventory.js';
import { planLookupJob } from './lookup-plan.js';
import { whenAborted, type Puller, type PullerOptions } from './puller.js';
import { PeriodicPuller } from './puller-base.js';
import { recordsOf } from './service-profile.js';

/** The appliance's default is 7 days of `seensince`; tags only come with `includetags`. */
const DEVICES_QUERY = { includetags: true } as const;

class LookupServicePuller extends PeriodicPuller {

  constructor(opts: PullerOptions) {
    super(opts, `LookupServicePuller(${opts.inputName}#${opts.inputId},${opts.service.name}#predefined)`);
  }

  /**
   * None: an inventory has no cursor, and a period of hours or a day would keep cursor_lag_seconds
   * above the DarktraceCursorLagGrowing alert's hour for most of it. Failing pulls show in health.
   */
  get cursorMs(): number | null {
    return null;
  }

  /** The inventory's rows, retried with backoff until it comes (or the puller stops: null). */
  private async fetchRows(signal: AbortSignal): Promise<{ rows: string[][]; received: number; requests: number } | null> {
    const got = await this.getUntilAnswered(signal, { ...DEVICES_QUERY }, recordsOf);
    if (!got) return null;
    const records = got.value;
    const rows = records.map(deviceRow).filter((r): r is string[] => r !== null);
    if (rows.length < records.length) this.log.warn(`${records.length - rows.length} of ${records.length} devices have no did and are left out of the lookup`);
    return { rows, received: records.length, requests: got.requests };
  }

  protected async pullOnce(signal: AbortSignal): Promise<void> {
    const svc = this.opts.service;
    const pullingId = this.now();
    this.log.info('Pull Started');
    const got = await this.fetchRows(signal);
    if (!got) return;
    this.opts.metrics?.receivedRecords(this.service, got.received);
    const store = this.opts.store;
    const before = store.data.lookup ? Object.keys(store.data.lookup.rows).length : 0;
    if (got.rows.length === 0 && before > 0) {
      // An appliance that knew devices answering none is a fault far more often than a network
      // emptied at once: deleting every row would strip the SOC's enrichment. Kept, asked again.
      this.log.warn(`The appliance answered no devices (the last inventory sent had ${before}); the lookup is left as it is and the inventory is asked again in the next period`);
      return;
    }
    const plan = planLookupJob({
      name: svc.lookupName as string,
      columns: DEVICE_COLUMNS,
      keyIndex: DEVICE_KEY_INDEX,
      rows: got.rows,
      previous: store.data.lookup,
      nowMs: pullingId,
    });
    const stats = `Statistics for this pull cycle (@devo_pulling_id=${pullingId}):Number of requests made: ${got.requests}; Number of devices received: ${got.received}`;
    if (!plan.job) {
      this.log.info(`${stats}; the inventory is unchanged, no lookup sent.`);
      await store.update((doc) => void (doc.last_pull_ms = pullingId)).catch((err: unknown) => this.log.error(`Could not record the pull: ${String(err)}`));
      this.log.info('The data is up to date!');
      return;
    }
    const job = plan.job;
    const what = job.action === 'FULL' ? `FULL with ${job.upserts.length} devices` : `INC with ${job.upserts.length} changed and ${job.deletes.length} removed devices`;
    const batch = buildLookupBatch(job, { inputName: this.opts.inputName, serviceName: this.service, tag: svc.tag });
    this.log.info(`${stats}; sending the lookup ${job.name} (id ${job.lookupId}): ${what}`);
    const acked = this.opts.sink
      .send(batch)
      .then(() =>
        store.update((doc) => {
          doc.lookup = plan.state;
          doc.last_pull_ms = pullingId;
        }),
      )
      .then(() => this.log.info(`The lookup ${job.name} (id ${job.lookupId}) is durable in the output; the inventory of ${got.rows.length} devices is committed`))
      .catch((err: unknown) => this.log.error(`Could not record the lookup: ${String(err)}`));
    this.pendingAck = acked;
    await Promise.race([acked, whenAborted(signal)]);
    if (signal.aborted) return;
    this.log.info('The data is up to date!');
  }
}

export function createLookupPuller(opts: PullerOptions): Puller {
  return new LookupServicePuller(opts);
}
