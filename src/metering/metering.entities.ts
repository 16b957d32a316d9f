/** Every TypeORM entity of the metering module (collected in src/database-schema.ts). */
import { TeacherUpstreamEntity } from './upstream/teacher-upstream.entity';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const METERING_ENTITIES: Function[] = [TeacherUpstreamEntity];
