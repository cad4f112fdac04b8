/** @module Deployment limits (constants the CLI's help needs without the AWS SDK). */

/** GetSampledRequests looks back at most three hours. */
export const MAX_SOAK_MINUTES = 180;
