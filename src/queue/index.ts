// The queue's public face: BullMQ on Redis, or in-process without it, behind one interface.
export * from './types.js';
export { MemoryJobQueue } from './memory.js';
export { BullJobConsumer, BullJobQueue } from './bullmq.js';
