// Sign-in state: only the bearer token is kept, in the browser session; who the user is comes
// from GET /me each time the workspace loads. A token that stops working mid-session (revoked,
// rotated) marks the session expired but keeps the page: the workspace asks for the token again
// over it, so a half-filled form survives. Another user signing in there starts afresh
// (`session` counts the users, for the views to remount).
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { request, setApiToken } from './api.js';

const AuthContext = createContext(null);
const KEY = 'token';

export function AuthProvider({ children }) {
  const [token, setToken] = useState(() => sessionStorage.getItem(KEY));
  const [me, setMe] = useState(null);
  const [expired, setExpired] = useState(false);
  const [session, setSession] = useState(0);

  const signOut = useCallback((becauseExpired = false) => {
    sessionStorage.removeItem(KEY);
    setApiToken(null);
    setToken(null);
    setMe(null);
    setExpired(becauseExpired);
  }, []);

  // Signed in: keep the page and ask again. Still loading who the user is: back to sign-in.
  const expire = useCallback(() => {
    sessionStorage.removeItem(KEY);
    setExpired(true);
  }, []);
  setApiToken(token, () => (me ? expire() : signOut(true)));

  // Who the stored token belongs to. Only a 401 ends the session: a server that is restarting
  // or unreachable (a 5xx, no answer) keeps the token, and the workspace offers to try again.
  const [unreachable, setUnreachable] = useState(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (!token || me) return;
    setUnreachable(null);
    request('/me', { token }).then(setMe, (error) => {
      if (error?.status === 401) signOut(true);
      else setUnreachable(error);
    });
  }, [token, me, signOut, attempt]);
  const retry = useCallback(() => setAttempt((n) => n + 1), []);

  const signIn = useCallback(async (candidate) => {
    const who = await request('/me', { token: candidate });
    sessionStorage.setItem(KEY, candidate);
    setApiToken(candidate);
    setExpired(false);
    setMe((before) => {
      if (before && before.user_id !== who.user_id) setSession((n) => n + 1);
      return who;
    });
    setToken(candidate);
    return who;
  }, []);

  const value = useMemo(
    () => ({ token, me, expired, session, unreachable, retry, signIn, signOut }),
    [token, me, expired, session, unreachable, retry, signIn, signOut],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth() {
  return useContext(AuthContext);
}
