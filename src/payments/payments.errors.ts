/**
 * Errors of the payments port. A card decline is never one of these: it is a
 * result (PaymentIntentResult with status requires_payment_method and a
 * failureCode). Everything else the processor (or the network) answers is a
 * PaymentsUnavailableError: the caller cannot know whether the operation
 * happened, so it retries later WITH THE SAME idempotency key — the processor
 * then replays the first outcome instead of doing it twice.
 */
export class PaymentsUnavailableError extends Error {
  constructor(
    message: string,
    /** The processor's error code (rate_limit, api_error, resource_missing, idempotency_error, connection_error, …). */
    readonly code: string,
    /**
     * false when retrying the same request cannot help (the processor refused
     * it as invalid: unknown object, parameters reused with another key, …);
     * the caller should stop and alert instead of retrying on schedule.
     */
    readonly retryable: boolean,
    /** HTTP status from the processor, when there was an answer. */
    readonly statusCode: number | null = null,
  ) {
    super(message);
    this.name = 'PaymentsUnavailableError';
  }
}

/** chargeOffSession without a payment method while the customer has no default one saved. */
export class NoPaymentMethodError extends PaymentsUnavailableError {
  constructor(customerId: string) {
    super(`Customer ${customerId} has no saved payment method`, 'payment_method_missing', false, null);
    this.name = 'NoPaymentMethodError';
  }
}

/**
 * The processor answered 429 (too many requests). Retry later with the same
 * idempotency key, after `retryAfterMs` when given; `shouldRetry` carries the
 * processor's own advice (the Stripe-Should-Retry header) when it sent one.
 */
export class PaymentsRateLimitedError extends PaymentsUnavailableError {
  constructor(
    message: string,
    readonly shouldRetry: boolean | null,
    readonly retryAfterMs: number | null,
  ) {
    super(message, 'rate_limit', shouldRetry !== false, 429);
    this.name = 'PaymentsRateLimitedError';
  }
}

/**
 * The processor refused a transfer or reversal: nothing was created. `code`
 * is the processor's (balance_insufficient, account_invalid,
 * transfers_not_allowed, …); `retryLater` is true when the same request may
 * succeed later (balance_insufficient: the money is still settling).
 */
export class TransferRefusedError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly retryLater: boolean,
  ) {
    super(message);
    this.name = 'TransferRefusedError';
  }
}
