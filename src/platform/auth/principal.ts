/** Who is making a request: a logged-in user (JWT) or a machine (API key). */
export enum ApiKeyScope {
  /** GraphQL queries for the key's organization. */
  READ = 'READ',
  /** GraphQL mutations for the key's organization. */
  WRITE = 'WRITE',
  /** The distillation gateway, bound to one agreement. */
  GATEWAY = 'GATEWAY',
  /** Vendor usage reporting. */
  USAGE_REPORT = 'USAGE_REPORT',
}

export interface UserPrincipal {
  kind: 'user';
  userId: string;
  isAdmin: boolean;
}

export interface ApiKeyPrincipal {
  kind: 'apiKey';
  apiKeyId: string;
  organizationId: string;
  scopes: ApiKeyScope[];
  agreementId: string | null;
  isAdmin: false;
}

export type Principal = UserPrincipal | ApiKeyPrincipal;

/** For the audit log: who did it. */
export function actorOf(p: Principal): { actorUserId: string | null; actorApiKeyId: string | null } {
  return p.kind === 'user'
    ? { actorUserId: p.userId, actorApiKeyId: null }
    : { actorUserId: null, actorApiKeyId: p.apiKeyId };
}
