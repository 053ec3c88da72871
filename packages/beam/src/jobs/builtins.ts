import { pipeline } from 'node:stream/promises';
import type { JobHandler } from './handler.js';

/** `echo a b` writes "a b\n" to stream 1, like /bin/echo without options. */
export const echoHandler: JobHandler = async (job) => {
  await write(job.stdout, `${job.args.slice(1).join(' ')}\n`);
  return 0;
};

/** `cat` copies stream 0 to stream 1 until stream 0 closes. */
export const catHandler: JobHandler = async (job) => {
  await pipeline(job.stdin, job.stdout, { signal: job.signal, end: false });
  return 0;
};

function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text, (err) => (err ? reject(err) : resolve()));
  });
}
