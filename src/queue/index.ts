// The queue's public face: BullMQ on Redis, Amazon SQS, or in-process, behind one interface.
export * from './types.js';
export { MemoryJobQueue } from './memory.js';
export { BullJobConsumer, BullJobQueue } from './bullmq.js';
export {
  processSqsRecords,
  SqsJobQueue,
  type SqsBatchResult,
  type SqsEventRecord,
  type SqsQueueSettings,
} from './sqs.js';
