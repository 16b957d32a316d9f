import { DataSource } from 'typeorm';
import { DatabaseSchema, dataSourceOptions } from './data-source-options';

/** Applies pending migrations (each in its own transaction); returns their names. */
export async function runMigrations(url: string, schema: DatabaseSchema): Promise<string[]> {
  const ds = new DataSource(dataSourceOptions(url, schema));
  await ds.initialize();
  try {
    const applied = await ds.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await ds.destroy();
  }
}
