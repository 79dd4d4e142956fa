// Load data for a view: {data, error, loading, reload}; a newer load wins over a slower older one.
// A load refused because the session had ended runs again once the user has signed in again.
import { useCallback, useEffect, useRef, useState } from 'react';
import { useAuth } from './auth.jsx';

export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const generation = useRef(0);
  const run = useCallback(load, deps);

  const reload = useCallback(() => {
    const mine = ++generation.current;
    setState((s) => ({ ...s, loading: true }));
    run().then(
      (data) => mine === generation.current && setState({ data, error: null, loading: false }),
      (error) => mine === generation.current && setState({ data: null, error, loading: false }),
    );
  }, [run]);

  useEffect(reload, [reload]);
  const { expired } = useAuth();
  const refused = state.error?.status === 401;
  useEffect(() => {
    if (!expired && refused) reload();
  }, [expired, refused, reload]);
  return { ...state, reload };
}
