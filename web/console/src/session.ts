/** The signed-in session: the API's access token, kept for this browser tab only. */
const KEY = 'beiming.console.token';

export function getToken(): string | null {
  return window.sessionStorage.getItem(KEY);
}

export function setToken(token: string | null): void {
  if (token === null) window.sessionStorage.removeItem(KEY);
  else window.sessionStorage.setItem(KEY, token);
}

/** fetch() to this server with the session's bearer token (REST downloads). */
export function authorizedFetch(url: string): Promise<Response> {
  const token = getToken();
  return fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
}
