/**
 * Keeps this process's Clock on the sandbox clock's persisted offset, so every
 * process of the service on one database shows the same business time:
 * read at start, then LISTEN for the NOTIFY an advance sends at commit (on a
 * connection of its own: a pooled one cannot hold a LISTEN), with a cheap
 * periodic re-read as the fallback for a dropped listener connection.
 *
 * With a real payment processor configured (STRIPE_SECRET_KEY) none of this
 * runs: business time is real time, whatever the table holds.
 */
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Client } from 'pg';
import { AppConfig } from '../config/app-config';
import { Database } from '../database/transaction';
import { Clock } from './clock';
import { CLOCK_CHANNEL, ClockStateRepository } from './clock-state.repository';

/** Fallback re-read of the offset when a notification may have been missed. */
export const CLOCK_REFRESH_MS = 5_000;

@Injectable()
export class ClockSync implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger('Clock');
  private listener: Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly db: Database,
    private readonly repo: ClockStateRepository,
    private readonly config: AppConfig,
  ) {}

  /** False with a real payment processor: the clock is never shifted there. */
  get enabled(): boolean {
    return !this.config.stripeSecretKey;
  }

  async onModuleInit(): Promise<void> {
    if (!this.enabled) return;
    try {
      await this.refresh();
    } catch (err) {
      this.log.warn({ err }, 'sandbox clock state unreadable at start (migrations not applied?); re-reading periodically');
    }
    await this.listen();
    this.timer = setInterval(() => void this.tick(), CLOCK_REFRESH_MS);
    this.timer.unref();
  }

  /** Re-reads the persisted offset now (after an advance, before answering `sandboxClock`). */
  async refresh(): Promise<void> {
    if (!this.enabled) return;
    const state = await this.repo.read(this.db.reader);
    this.clock.adopt(state.offsetMs);
  }

  private async tick(): Promise<void> {
    try {
      await this.refresh();
      if (!this.listener) await this.listen();
    } catch (err) {
      this.log.warn({ err }, 'sandbox clock refresh failed');
    }
  }

  private async listen(): Promise<void> {
    if (this.stopped || !this.config.databaseUrl) return;
    const client = new Client({ connectionString: this.config.databaseUrl, application_name: 'beiming-clock' });
    client.on('notification', (msg) => {
      if (msg.channel === CLOCK_CHANNEL && msg.payload) this.clock.adopt(Number(msg.payload));
    });
    client.on('error', (err) => {
      this.log.warn({ err }, 'sandbox clock listener lost; re-reading periodically until it reconnects');
      if (this.listener === client) this.listener = null;
      void client.end().catch(() => undefined);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CLOCK_CHANNEL}`);
      this.listener = client;
      // An advance committed between the first read and LISTEN would be missed: read once more.
      await this.refresh();
    } catch (err) {
      this.log.warn({ err }, 'sandbox clock listener could not start; re-reading periodically');
      await client.end().catch(() => undefined);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const l = this.listener;
    this.listener = null;
    await l?.end().catch(() => undefined);
  }
}
