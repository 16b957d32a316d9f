/** Every TypeORM entity of the ledger module (collected in src/database-schema.ts). */
import { LedgerAccountEntity, LedgerEntryEntity, LedgerTransactionEntity } from './ledger.entity';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const LEDGER_ENTITIES: Function[] = [LedgerAccountEntity, LedgerTransactionEntity, LedgerEntryEntity];
