/** @module The table behind each open DynamoDB store, for the backup's export and import (which read and write items as they are, beside the repositories). */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface DynamoTable {
  doc: DynamoDBDocumentClient;
  table: string;
}

export const dynamoTables = new WeakMap<object, DynamoTable>();
