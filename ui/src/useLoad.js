// Load data for a view: {data, error, loading, reload}; a newer load wins over a slower older one.
import { useCallback, useEffect, useRef, useState } from 'react';

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
  return { ...state, reload };
}
