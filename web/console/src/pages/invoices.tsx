/** Distiller: invoices, one invoice's lines (pay it), and the payment method on file. */
import { useMutation, useQuery } from 'urql';
import { Link } from '../router';
import { ApiError, Facts, Loading, Page, Table, when } from '../ui';

const INVOICES = `query Invoices($org: ID!, $after: String) { invoices(organizationId: $org, first: 50, after: $after) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { node { id number kind status period currency issuedAt dueAt paidAt total { formatted } amountDue { formatted } } } } }`;
const SETUP = `query PaymentSetup($org: ID!) { paymentSetup(organizationId: $org) { organizationId mode hasDefaultPaymentMethod defaultPaymentMethodId testPaymentMethods } }`;
const CREATE_SETUP = `mutation CreateSetup($org: ID!) { createPaymentSetup(organizationId: $org) { setupIntentId mode testPaymentMethods } }`;
const CONFIRM = `mutation ConfirmSetup($org: ID!, $si: ID!, $pm: String!) { confirmSandboxPaymentSetup(organizationId: $org, setupIntentId: $si, paymentMethod: $pm) {
  organizationId mode hasDefaultPaymentMethod defaultPaymentMethodId testPaymentMethods } }`;

export function InvoicesPage({ orgId }: { orgId: string }) {
  const [{ data, fetching, error }] = useQuery({ query: INVOICES, variables: { org: orgId } });
  return (
    <Page title="Invoices & payment">
      <PaymentMethod orgId={orgId} />
      <h2>Invoices</h2>
      {fetching && !data ? <Loading what="invoices" /> : null}
      <ApiError error={error} />
      {data ? (
        <Table
          caption={`${data.invoices.totalCount} invoices, newest first`}
          head={['Number', 'Kind', 'Period', 'Status', 'Total', 'Due', 'Issued', 'Paid']}
          empty="No invoices yet."
          rows={data.invoices.edges.map(({ node: i }: any) => [
            <Link to={`/o/${orgId}/invoices/${i.id}`}>{i.number}</Link>,
            i.kind,
            i.period ?? '—',
            i.status,
            i.total.formatted,
            i.amountDue.formatted,
            when(i.issuedAt),
            when(i.paidAt),
          ])}
        />
      ) : null}
    </Page>
  );
}

function PaymentMethod({ orgId }: { orgId: string }) {
  const [{ data, error }, refetch] = useQuery({ query: SETUP, variables: { org: orgId } });
  const [created, createSetup] = useMutation(CREATE_SETUP);
  const [confirmed, confirm] = useMutation(CONFIRM);
  const s = data?.paymentSetup;
  const saveTestCard = async () => {
    const r = await createSetup({ org: orgId });
    const si = r.data?.createPaymentSetup.setupIntentId;
    if (!si) return;
    await confirm({ org: orgId, si, pm: 'pm_sandbox_visa' });
    // The default method is set once the sandbox's setup_intent.succeeded event is processed.
    setTimeout(() => refetch({ requestPolicy: 'network-only' }), 1000);
  };
  return (
    <section aria-labelledby="pm-title" className="card">
      <h2 id="pm-title">Payment method</h2>
      <ApiError error={error} />
      {s ? (
        <p>
          {s.hasDefaultPaymentMethod ? `On file: ${s.defaultPaymentMethodId}` : 'No payment method on file.'} ({s.mode.toLowerCase()} mode)
        </p>
      ) : null}
      {s?.mode === 'SANDBOX' ? (
        <button type="button" onClick={() => void saveTestCard()} disabled={created.fetching || confirmed.fetching}>
          Save the sandbox test card
        </button>
      ) : null}
      <ApiError error={created.error ?? confirmed.error} />
    </section>
  );
}

const INVOICE = `query Invoice($id: ID!) { invoice(id: $id) { id number organizationId kind status period currency issuedAt dueAt paidAt
  total { formatted } amountDue { formatted } amountPaid { formatted } amountRefunded { formatted }
  payment { attempts failures lastFailureCode nextAttemptAt }
  lines(first: 100) { edges { node { position kind description quantity usagePeriod amount { formatted } } } } } }`;
const PAY = `mutation PayInvoice($id: ID!) { payInvoice(id: $id) { outcome failureCode message invoice { id status paidAt amountPaid { formatted } amountDue { formatted } } } }`;

export function InvoicePage({ orgId, invoiceId }: { orgId: string; invoiceId: string }) {
  const [{ data, fetching, error }] = useQuery({ query: INVOICE, variables: { id: invoiceId } });
  const [paid, pay] = useMutation(PAY);
  const i = data?.invoice;
  // An invoice of another organization than the one in the address is not shown under it.
  const foreign = i && i.organizationId !== orgId;
  return (
    <Page title={i && !foreign ? `Invoice ${i.number}` : 'Invoice'}>
      <p>
        <Link to={`/o/${orgId}/invoices`}>← Invoices</Link>
      </p>
      {fetching && !data ? <Loading what="the invoice" /> : null}
      <ApiError error={error} />
      {foreign ? <ApiError problem={{ code: 'NOT_FOUND', message: 'This invoice belongs to another organization.' }} /> : null}
      {i && !foreign ? (
        <>
          <Facts
            rows={[
              ['Status', i.status],
              ['Kind', i.kind],
              ['Period', i.period ?? '—'],
              ['Total', i.total.formatted],
              ['Paid', i.amountPaid.formatted],
              ['Refunded', i.amountRefunded.formatted],
              ['Due', i.amountDue.formatted],
              ['Issued', when(i.issuedAt)],
              ['Due date', when(i.dueAt)],
              ['Payment attempts', `${i.payment.attempts} (${i.payment.failures} failed${i.payment.lastFailureCode ? `, last: ${i.payment.lastFailureCode}` : ''})`],
            ]}
          />
          {i.status === 'OPEN' || i.status === 'UNCOLLECTIBLE' ? (
            <button type="button" onClick={() => void pay({ id: i.id })} disabled={paid.fetching}>
              Pay now
            </button>
          ) : null}
          {paid.data ? (
            <p role="status">
              {paid.data.payInvoice.outcome}
              {paid.data.payInvoice.message ? `: ${paid.data.payInvoice.message}` : ''}
            </p>
          ) : null}
          <ApiError error={paid.error} />
          <Table
            caption="Lines"
            head={['#', 'Kind', 'Description', 'Usage period', 'Quantity', 'Amount']}
            empty="No lines."
            rows={i.lines.edges.map(({ node: l }: any) => [String(l.position), l.kind, l.description, l.usagePeriod ?? '—', l.quantity ?? '—', l.amount.formatted])}
          />
        </>
      ) : null}
    </Page>
  );
}
