// The cache's public face: a key-value store (Redis or in-process), typed JSON caching with the
// rule key format, single flight, and the sliding-window rate limiter that shares the same Redis.
export { MemoryKeyValueStore, type KeyValueStore } from './kv.js';
export { connectRedis, RedisKeyValueStore } from './redis.js';
export { JsonCache, ruleCacheKey } from './json-cache.js';
export { SingleFlight } from './single-flight.js';
export { SlidingWindowLimiter, type RatePolicy } from './rate-limit.js';
