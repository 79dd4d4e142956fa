// Sign-in state: only the bearer token is kept, in the browser session; who the user is comes
// from GET /me each time the workspace loads.
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { request, setApiToken } from './api.js';

const AuthContext = createContext(null);
const KEY = 'token';

export function AuthProvider({ children }) {
  const [token, setToken] = useState(() => sessionStorage.getItem(KEY));
  const [me, setMe] = useState(null);
  const [expired, setExpired] = useState(false);

  const signOut = useCallback((becauseExpired = false) => {
    sessionStorage.removeItem(KEY);
    setApiToken(null);
    setToken(null);
    setMe(null);
    setExpired(becauseExpired);
  }, []);

  setApiToken(token, () => signOut(true));

  useEffect(() => {
    if (!token || me) return;
    request('/me', { token }).then(setMe, () => signOut(true));
  }, [token, me, signOut]);

  const signIn = useCallback(async (candidate) => {
    const who = await request('/me', { token: candidate });
    sessionStorage.setItem(KEY, candidate);
    setApiToken(candidate);
    setExpired(false);
    setMe(who);
    setToken(candidate);
    return who;
  }, []);

  const value = useMemo(
    () => ({ token, me, expired, signIn, signOut }),
    [token, me, expired, signIn, signOut],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth() {
  return useContext(AuthContext);
}
