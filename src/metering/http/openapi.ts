/**
 * OpenAPI 3.1 document of the REST endpoints (GraphQL documents itself).
 * test/openapi.e2e-spec.ts validates it against the OpenAPI schema and checks
 * that every documented path answers.
 */
import { MAX_JSON_DEPTH } from '../../platform/http/json-limits';
import {
  MAX_BATCH_BYTES,
  MAX_EVENT_ID_LENGTH,
  MAX_EVENTS_PER_BATCH,
  MAX_METADATA_BYTES,
  MAX_TOKENS_PER_EVENT,
  UsageRejection,
} from '../usage/usage-event.validation';

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const retryAfter = {
  'Retry-After': { description: 'Seconds until the request may succeed', schema: { type: 'integer', minimum: 1 } },
  'x-ratelimit-limit-tokens': { description: 'The limit that refused the request', schema: { type: 'string' } },
  'x-ratelimit-remaining-tokens': { description: 'Tokens still available (requests in flight count)', schema: { type: 'string' } },
};

const requestId = {
  'x-request-id': {
    description: 'Id of this request; for the gateway also the id of the usage event it records',
    schema: { type: 'string', format: 'uuid' },
  },
};

const statementResponses = {
  '200': {
    description: 'The statement, as an attachment',
    content: { 'application/json': { schema: { type: 'object', required: ['payload', 'signature', 'keyId', 'statement'] } }, 'text/csv': { schema: { type: 'string' } } },
  },
  '400': { description: 'A file name that is not <YYYY-MM>.json|csv, or an earnings statement without ?currency', content: { 'application/json': { schema: { $ref: '#/components/schemas/SimpleError' } } } },
  '401': { description: 'No valid session token', content: { 'application/json': { schema: { $ref: '#/components/schemas/SimpleError' } } } },
  '404': { description: "Unknown organization, another organization's statement, or a period without one", content: { 'application/json': { schema: { $ref: '#/components/schemas/SimpleError' } } } },
};

const formatParameter = { name: 'format', in: 'query', required: false, description: 'json or html (default: by the Accept header, else HTML)', schema: { enum: ['json', 'html'] } };

const publicPageResponses = (missing: string) => ({
  '200': { description: 'The page', content: { 'text/html': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } } },
  '404': { description: missing, content: { 'text/html': { schema: { type: 'string' } }, 'application/json': { schema: { $ref: '#/components/schemas/SimpleError' } } } },
});

export function openApiDocument(opts: { gatewayMaxBodyBytes: number }) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Beiming REST API',
      version: '1.0.0',
      description:
        'The distillation gateway (OpenAI-compatible), vendor usage ingestion, the Stripe webhook endpoint, statement downloads and the public ' +
        'provenance pages. Everything else is GraphQL at POST /graphql. Gateway and ingestion errors have the OpenAI shape ' +
        '{"error": {message, type, code, param, request_id}}; the others answer {"error": {code, message}}.',
    },
    servers: [{ url: '/' }],
    security: [{ apiKey: [] }],
    paths: {
      '/v1/gateway/chat/completions': {
        post: {
          operationId: 'gatewayChatCompletions',
          summary: "Chat completion from the teacher of the key's agreement, metered",
          description:
            'Authenticated by a distiller API key with the GATEWAY scope, bound to one agreement. The request is an OpenAI ' +
            'chat-completions body; `model` may be omitted or any name (the agreement decides the teacher), but a UUID must be the ' +
            "agreement's or its model's id. Before forwarding, the request's worst case (prompt estimate + max_tokens, or the " +
            'configured default) is reserved against the period quota and the per-minute limit. With `stream: true` the answer is ' +
            'server-sent events passed through as they arrive. One usage event is recorded per request, its id returned in ' +
            `x-request-id. Bodies up to ${opts.gatewayMaxBodyBytes} bytes, nested at most ${MAX_JSON_DEPTH} levels. An upstream error is ` +
            'answered with a status, a code and the request id (its body goes to the vendor only). A request cut short (upstream error, ' +
            'silence longer than the upstream timeout, GATEWAY_MAX_REQUEST_MS) is billed for what was delivered, as estimated usage, and the ' +
            'error says what was recorded; with nothing delivered, nothing is billed.',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/ChatCompletionRequest' } } },
          },
          responses: {
            '200': {
              description: 'The upstream answer: a chat.completion object, or text/event-stream chunks when stream is true',
              headers: requestId,
              content: {
                'application/json': { schema: { type: 'object', additionalProperties: true } },
                'text/event-stream': { schema: { type: 'string' } },
              },
            },
            '400': errorResponse('Invalid request, or a request larger than the licence limits allow (lower max_tokens)'),
            '401': errorResponse('Missing, invalid or revoked API key'),
            '403': errorResponse('Key without the GATEWAY scope; agreement suspended, ended, not started or awaiting payment'),
            '404': errorResponse('The named model is not the one of the key\'s agreement'),
            '413': errorResponse('Body too large'),
            '429': { ...errorResponse('Period quota (insufficient_quota) or per-minute rate limit (rate_limit_exceeded) reached'), headers: retryAfter },
            '502': errorResponse('The upstream failed or answered something that is not a chat completion; nothing billed'),
            '503': errorResponse('The vendor has not configured an upstream for this teacher'),
            '504': errorResponse('The upstream went silent for its timeout, or the request passed the gateway limit per request; nothing billed'),
          },
        },
      },
      '/v1/gateway/models': {
        get: {
          operationId: 'gatewayListModels',
          summary: "The models the key reaches (OpenAI's list shape): its agreement's teacher",
          responses: {
            '200': { description: '{"object": "list", "data": [model]}', headers: requestId, content: { 'application/json': { schema: { $ref: '#/components/schemas/ModelList' } } } },
            '401': errorResponse('Missing, invalid or revoked API key'),
            '403': errorResponse('Key without the GATEWAY scope'),
          },
        },
      },
      '/v1/gateway/models/{id}': {
        get: {
          operationId: 'gatewayRetrieveModel',
          summary: 'One model the key reaches',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': { description: 'The model', headers: requestId, content: { 'application/json': { schema: { $ref: '#/components/schemas/Model' } } } },
            '401': errorResponse('Missing, invalid or revoked API key'),
            '404': errorResponse('Not a model this key reaches'),
          },
        },
      },
      '/v1/usage/events': {
        post: {
          operationId: 'reportUsageEvents',
          summary: 'Report usage of self-served teachers (vendors)',
          description:
            `Authenticated by a vendor API key with the USAGE_REPORT scope. At most ${MAX_EVENTS_PER_BATCH} events and ${MAX_BATCH_BYTES} bytes per ` +
            'request. Each event is judged on its own: accepted, duplicate (same id, same payload — retries are harmless), or rejected ' +
            'with a reason. Usage beyond the period quota is accepted and counted as overage. Only agreements on the reporting ' +
            "vendor's own models are accepted (others are rejected as AGREEMENT_NOT_FOUND).",
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/UsageBatch' } } },
          },
          responses: {
            '200': {
              description: 'One result per event, in order',
              headers: requestId,
              content: { 'application/json': { schema: { $ref: '#/components/schemas/UsageBatchResult' } } },
            },
            '400': errorResponse(`The body is not {"events": [...]}, or is nested more than ${MAX_JSON_DEPTH} levels deep`),
            '401': errorResponse('Missing, invalid or revoked API key'),
            '403': errorResponse('Key without the USAGE_REPORT scope'),
            '413': errorResponse(`More than ${MAX_EVENTS_PER_BATCH} events or ${MAX_BATCH_BYTES} bytes`),
          },
        },
      },
      '/v1/stripe/webhooks': {
        post: {
          operationId: 'receiveStripeWebhook',
          summary: "Stripe's webhook endpoint (payments)",
          description:
            'For Stripe only: the Stripe-Signature header is verified on the raw body with STRIPE_WEBHOOK_SECRET (5-minute tolerance) ' +
            'before anything else. A valid event is stored once by its id and processed by a job in its own transaction; a repeated ' +
            'delivery is acknowledged as a duplicate. The sandbox payments adapter needs no webhooks (503 without a secret).',
          security: [],
          parameters: [{ name: 'Stripe-Signature', in: 'header', required: true, schema: { type: 'string' } }],
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', description: 'A Stripe event' } } } },
          responses: {
            '200': {
              description: 'Stored (or already stored)',
              content: {
                'application/json': {
                  schema: { type: 'object', required: ['received', 'duplicate'], properties: { received: { const: true }, duplicate: { type: 'boolean' } } },
                },
              },
            },
            '400': errorResponse('Missing, invalid, stale or tampered signature, or a signed body that is not an event: nothing stored'),
            '503': errorResponse('STRIPE_WEBHOOK_SECRET is not set on this server'),
          },
        },
      },
      '/v1/statements/{organizationId}/earnings/{file}': {
        get: {
          operationId: 'downloadEarningsStatement',
          summary: "An organization's signed earnings statement for a month (members of the organization and platform admins)",
          description:
            'JSON is the signed document {payload, signature, keyId, statement}; CSV is one row per line with the signature in the ' +
            'leading `#` rows. Both verify offline against /.well-known/beiming-keys.json (npm run verify-statement). Another ' +
            "organization's statement answers 404, as an unknown one does.",
          security: [{ session: [] }],
          parameters: [
            { name: 'organizationId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
            { name: 'file', in: 'path', required: true, description: '<YYYY-MM>.json or <YYYY-MM>.csv', schema: { type: 'string', pattern: '^\\d{4}-\\d{2}\\.(json|csv)$' } },
            { name: 'currency', in: 'query', required: true, description: 'ISO 4217 code of the earnings', schema: { type: 'string', minLength: 3, maxLength: 3 } },
          ],
          responses: statementResponses,
        },
      },
      '/v1/statements/{organizationId}/usage/{file}': {
        get: {
          operationId: 'downloadUsageStatement',
          summary: "An organization's signed usage statement for a month (members of the organization and platform admins)",
          description: 'The usage per agreement of the month, signed like the earnings statement.',
          security: [{ session: [] }],
          parameters: [
            { name: 'organizationId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
            { name: 'file', in: 'path', required: true, description: '<YYYY-MM>.json or <YYYY-MM>.csv', schema: { type: 'string', pattern: '^\\d{4}-\\d{2}\\.(json|csv)$' } },
          ],
          responses: statementResponses,
        },
      },
      '/.well-known/beiming-keys.json': {
        get: {
          operationId: 'signingKeys',
          summary: 'The public keys (JWKS) that verify attestations and statements, current and retired',
          security: [],
          responses: { '200': { description: 'A JSON Web Key Set', content: { 'application/json': { schema: { type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: { type: 'object' } } } } } } } },
        },
      },
      '/models/{id}': {
        get: {
          operationId: 'modelPage',
          summary: "A listed model's public page (HTML, or JSON with ?format=json or Accept: application/json)",
          security: [],
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }, formatParameter],
          responses: publicPageResponses('No model with that id is visible'),
        },
      },
      '/models/{id}/licence': {
        get: {
          operationId: 'licencePage',
          summary: "A model's licence: the exact terms of its current offer and their hash (HTML or JSON)",
          security: [],
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }, formatParameter],
          responses: publicPageResponses('No model with that id is visible'),
        },
      },
      '/verify/{digest}': {
        get: {
          operationId: 'verifyWeights',
          summary: 'Is a model with these weights (sha256 digest) registered and licensed? (HTML or JSON)',
          security: [],
          parameters: [{ name: 'digest', in: 'path', required: true, schema: { type: 'string' } }, formatParameter],
          responses: publicPageResponses('No model is registered with those weights'),
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openApiDocument',
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
    },
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', bearerFormat: 'bm_<prefix>_<secret>', description: 'An API key created with createApiKey' },
        session: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A session token from the logIn mutation' },
      },
      schemas: {
        Model: {
          type: 'object',
          required: ['id', 'object', 'created', 'owned_by'],
          properties: {
            id: { type: 'string', description: "The teacher model's id (a usable `model` value)" },
            object: { const: 'model' },
            created: { type: 'integer', description: 'When the agreement started (Unix seconds)' },
            owned_by: { type: 'string', description: "The vendor organization's id" },
          },
        },
        ModelList: {
          type: 'object',
          required: ['object', 'data'],
          properties: { object: { const: 'list' }, data: { type: 'array', items: { $ref: '#/components/schemas/Model' } } },
        },
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['message', 'type', 'code'],
              properties: {
                message: { type: 'string' },
                type: { type: 'string' },
                code: { type: 'string' },
                param: { type: ['string', 'null'] },
                request_id: { type: 'string' },
              },
            },
          },
        },
        SimpleError: {
          type: 'object',
          required: ['error'],
          properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
        },
        ChatCompletionRequest: {
          type: 'object',
          required: ['messages'],
          additionalProperties: true,
          properties: {
            model: { type: 'string' },
            messages: {
              type: 'array',
              minItems: 1,
              items: {
                type: 'object',
                required: ['role'],
                properties: {
                  role: { type: 'string' },
                  content: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'object' } }, { type: 'null' }] },
                },
              },
            },
            max_tokens: { type: 'integer', minimum: 1 },
            max_completion_tokens: { type: 'integer', minimum: 1 },
            stream: { type: 'boolean' },
            stream_options: { type: 'object', properties: { include_usage: { type: 'boolean' } } },
          },
        },
        UsageEvent: {
          type: 'object',
          required: ['id', 'agreementId', 'occurredAt', 'inputTokens', 'outputTokens'],
          additionalProperties: false,
          properties: {
            id: { type: 'string', minLength: 1, maxLength: MAX_EVENT_ID_LENGTH, pattern: '^[\\x21-\\x7e]+$', description: "The reporter's id; unique per agreement" },
            agreementId: { type: 'string', format: 'uuid' },
            occurredAt: { type: 'string', format: 'date-time', description: 'With a time zone; at most 5 minutes ahead and 35 days back' },
            inputTokens: { type: 'integer', minimum: 0, maximum: MAX_TOKENS_PER_EVENT },
            outputTokens: { type: 'integer', minimum: 0, maximum: MAX_TOKENS_PER_EVENT },
            metadata: { type: 'object', description: `Free-form JSON, at most ${MAX_METADATA_BYTES} bytes; part of the payload compared for duplicates` },
          },
        },
        UsageBatch: {
          type: 'object',
          required: ['events'],
          properties: { events: { type: 'array', maxItems: MAX_EVENTS_PER_BATCH, items: { $ref: '#/components/schemas/UsageEvent' } } },
        },
        UsageEventResult: {
          type: 'object',
          required: ['index', 'id', 'status'],
          properties: {
            index: { type: 'integer', description: 'Position in the request' },
            id: { type: ['string', 'null'] },
            status: { type: 'string', enum: ['accepted', 'duplicate', 'rejected'] },
            overageTokens: { type: 'integer', description: 'accepted: tokens of this event beyond the period quota' },
            reason: { type: 'string', enum: Object.values(UsageRejection), description: 'rejected: why' },
            message: { type: 'string' },
          },
        },
        UsageBatchResult: {
          type: 'object',
          required: ['accepted', 'duplicates', 'rejected', 'results'],
          properties: {
            accepted: { type: 'integer' },
            duplicates: { type: 'integer' },
            rejected: { type: 'integer' },
            results: { type: 'array', items: { $ref: '#/components/schemas/UsageEventResult' } },
          },
        },
      },
    },
  };
}
