/** `--validate`: open the TLS material and connect once (handshake included) to an output. */
import { OutputError, serializeError, type OutputConfig, type SerializedError } from '@devo-collector/common';
import { OUTPUT_ERROR } from './errors.js';
import { usesTls } from './sender-manager.js';
import { describeSocketError } from './senders/delivery.js';
import { connectorFor } from './senders/socket-connect.js';

export async function checkOutput(output: OutputConfig): Promise<{ ok: boolean; error?: SerializedError }> {
  if (output.type === 'console') return { ok: true };
  const connect = connectorFor(output, usesTls(output));
  try {
    const socket = await connect(output.connectTimeoutMs);
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.on('error', () => undefined);
      socket.resume();
      socket.end();
      setTimeout(() => socket.destroy(), 2_000).unref();
    });
    return { ok: true };
  } catch (err) {
    if (err instanceof OutputError) return { ok: false, error: serializeError(err) };
    const e = new OutputError(
      OUTPUT_ERROR.connectCheck,
      `outputs.${output.name}: cannot connect to ${output.address}:${output.port}: ${describeSocketError(err)}`,
    );
    return { ok: false, error: serializeError(e) };
  }
}
