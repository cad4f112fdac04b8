// The first schema: vulnerabilities, evidence, versioned rules, jobs and audit events.
// Plain PostgreSQL that PGlite runs unchanged (no extensions).
import { sql, type Kysely, type Migration } from '../kysely.js';

const now = sql`now()`;
const emptyArray = sql`'[]'::jsonb`;
const emptyObject = sql`'{}'::jsonb`;

export const initial: Migration = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema as it was then
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('vulnerabilities')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('cve_year', 'integer', (c) =>
        c.generatedAlwaysAs(sql`split_part(id, '-', 2)::integer`).stored(),
      )
      .addColumn('cve_seq', 'bigint', (c) =>
        c.generatedAlwaysAs(sql`split_part(id, '-', 3)::bigint`).stored(),
      )
      .addColumn('title', 'text')
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('cwes', 'jsonb', (c) => c.notNull().defaultTo(emptyArray))
      .addColumn('cvss', 'jsonb')
      .addColumn('severity', 'text', (c) => c.notNull().defaultTo('unknown'))
      .addColumn('vendor', 'text')
      .addColumn('product', 'text')
      .addColumn('cpes', 'jsonb', (c) => c.notNull().defaultTo(emptyArray))
      .addColumn('references', 'jsonb', (c) => c.notNull().defaultTo(emptyArray))
      .addColumn('kev', 'boolean', (c) => c.notNull().defaultTo(false))
      .addColumn('kev_date_added', 'text')
      .addColumn('published', 'text')
      .addColumn('modified', 'text')
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('fetched_at', 'timestamptz', (c) => c.notNull())
      .addColumn('tags', 'jsonb', (c) => c.notNull().defaultTo(emptyArray))
      .addColumn('exploit', 'jsonb')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
      .addCheckConstraint('vulnerabilities_id_upper', sql`id ~ '^CVE-[0-9]{4}-[0-9]{4,}$'`)
      .addCheckConstraint(
        'vulnerabilities_severity',
        sql`severity in ('critical', 'high', 'medium', 'low', 'none', 'unknown')`,
      )
      .execute();
    // Listing: newest CVE first; filters on KEV and severity.
    await db.schema
      .createIndex('vulnerabilities_year_seq')
      .on('vulnerabilities')
      .columns(['cve_year desc', 'cve_seq desc'])
      .execute();
    await db.schema
      .createIndex('vulnerabilities_kev')
      .on('vulnerabilities')
      .columns(['cve_year desc', 'cve_seq desc'])
      .where(sql.ref('kev'), '=', true)
      .execute();
    await db.schema
      .createIndex('vulnerabilities_severity_idx')
      .on('vulnerabilities')
      .columns(['severity', 'cve_year desc', 'cve_seq desc'])
      .execute();

    await db.schema
      .createTable('evidence')
      .addColumn('id', 'bigserial', (c) => c.primaryKey())
      .addColumn('cve_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('title', 'text')
      .addColumn('request', 'jsonb')
      .addColumn('text', 'text')
      .addColumn('signature', 'jsonb')
      .addColumn('extractor', 'text')
      .addColumn('fetched_at', 'timestamptz', (c) => c.notNull())
      .addColumn('content_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
      .addUniqueConstraint('evidence_cve_content', ['cve_id', 'content_hash'])
      .addCheckConstraint('evidence_kind', sql`kind in ('request', 'article', 'signature', 'template')`)
      .execute();

    await db.schema
      .createTable('rules')
      .addColumn('id', 'bigserial', (c) => c.primaryKey())
      .addColumn('cve_id', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull().check(sql`version > 0`))
      .addColumn('rule', 'jsonb', (c) => c.notNull())
      .addColumn('inputs_hash', 'text', (c) => c.notNull())
      .addColumn('engine', 'text', (c) => c.notNull())
      .addColumn('provider', 'text')
      .addColumn('model', 'text')
      .addColumn('report', 'jsonb', (c) => c.notNull().defaultTo(emptyObject))
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
      .addUniqueConstraint('rules_cve_version', ['cve_id', 'version'])
      .execute();

    await db.schema
      .createTable('jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('cve_id', 'text')
      .addColumn('status', 'text', (c) => c.notNull().defaultTo('queued'))
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('payload', 'jsonb', (c) => c.notNull().defaultTo(emptyObject))
      .addColumn('result', 'jsonb')
      .addColumn('error', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
      .addCheckConstraint('jobs_status', sql`status in ('queued', 'running', 'succeeded', 'failed', 'dead')`)
      .execute();
    await db.schema.createIndex('jobs_status_created').on('jobs').columns(['status', 'created_at']).execute();
    await db.schema.createIndex('jobs_cve').on('jobs').columns(['cve_id', 'created_at']).execute();

    await db.schema
      .createTable('audit_events')
      .addColumn('id', 'bigserial', (c) => c.primaryKey())
      .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(now))
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('request_id', 'text')
      .addColumn('cve_id', 'text')
      .addColumn('principal', 'text')
      .addColumn('data', 'jsonb', (c) => c.notNull().defaultTo(emptyObject))
      .execute();
    await db.schema.createIndex('audit_events_at').on('audit_events').column('at').execute();
    await db.schema.createIndex('audit_events_type').on('audit_events').columns(['type', 'at']).execute();
    await db.schema.createIndex('audit_events_cve').on('audit_events').columns(['cve_id', 'at']).execute();
    await db.schema.createIndex('audit_events_request').on('audit_events').column('request_id').execute();
  },

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async down(db: Kysely<any>): Promise<void> {
    for (const table of ['audit_events', 'jobs', 'rules', 'evidence', 'vulnerabilities']) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};
