import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { ApiError, businessProblem, Field } from '../ui';

const LOG_IN = `mutation LogIn($input: LogInInput!) { logIn(input: $input) {
  __typename
  ... on AuthPayload { accessToken }
  ... on BusinessError { code message }
} }`;

export function LoginPage({ onSignedIn }: { onSignedIn: (token: string) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [result, logIn] = useMutation(LOG_IN);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => {
    document.title = 'Log in · Beiming console';
    first.current?.focus();
  }, []);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await logIn({ input: { email, password } });
    const payload = r.data?.logIn;
    if (payload?.__typename === 'AuthPayload') onSignedIn(payload.accessToken);
  };
  const refused = businessProblem(result.data?.logIn);
  return (
    <main id="main" className="standalone">
      <h1>Log in to the Beiming console</h1>
      <form onSubmit={submit} className="form narrow" aria-describedby="login-help">
        <p id="login-help">Use the e-mail and password of your Beiming account.</p>
        <Field label="E-mail">
          <input ref={first} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </Field>
        <Field label="Password">
          <input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </Field>
        <button type="submit" disabled={result.fetching}>
          {result.fetching ? 'Logging in…' : 'Log in'}
        </button>
        <ApiError error={result.error} problem={refused} />
      </form>
    </main>
  );
}
