/**
 * DataSource for the TypeORM CLI (`npm run migration:*`). scripts/db.ts sets
 * DATABASE_URL (starting the embedded PostgreSQL when none is configured).
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { DATABASE_SCHEMA } from '../src/database-schema';
import { dataSourceOptions } from '../src/platform/database/data-source-options';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL is not set (run migrations through `npm run migration:*`)');

export default new DataSource(dataSourceOptions(url, DATABASE_SCHEMA));
