import { Injectable } from '@nestjs/common';
import { JobsService } from '../platform/jobs/jobs.service';
import { LicenseAgreementService } from './license-agreement.service';

export const AGREEMENT_EXPIRY_JOB = 'licensing.expire-agreements';

/**
 * Every minute: agreements past their term become EXPIRED in storage (reads
 * already report them as EXPIRED the moment endsAt passes), each audit-logged.
 */
@Injectable()
export class AgreementExpiryJob {
  constructor(jobs: JobsService, agreements: LicenseAgreementService) {
    jobs.register({
      name: AGREEMENT_EXPIRY_JOB,
      cron: '* * * * *',
      followsBusinessTime: { order: 1 },
      run: async () => ({ expired: await agreements.expireDueAgreements() }),
    });
  }
}
