import { useEffect, useRef, useState, useCallback } from 'preact/hooks';
import { follow } from './follow.js';

// Loads with fn() now and every `every` ms while the page is visible (live
// status without reloading); each answer replaces the last, so a page left
// open holds no growing state. Returns {data, error, loading, reload}.
export function usePoll(fn, deps, every = 2000) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const busy = useRef(false);
  const alive = useRef(true);

  const reload = useCallback(async () => {
    if (busy.current) return;
    busy.current = true;
    try {
      const data = await fnRef.current();
      if (alive.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (alive.current) setState((s) => ({ data: s.data, error, loading: false }));
    } finally {
      busy.current = false;
    }
  }, []);

  useEffect(() => {
    alive.current = true;
    setState({ data: undefined, error: null, loading: true });
    reload();
    let t = null;
    if (every) {
      t = setInterval(() => {
        if (document.visibilityState === 'visible') reload();
      }, every);
    }
    return () => {
      alive.current = false;
      if (t) clearInterval(t);
    };
  }, deps);
  return { ...state, reload };
}

// Follows an NDJSON stream while mounted; keeps at most `cap` lines (oldest
// dropped). Returns {lines, end}: end is the final object, or null.
export function useFollow(url, { cap = 5000, resumable = true } = {}) {
  const [lines, setLines] = useState([]);
  const [end, setEnd] = useState(null);
  useEffect(() => {
    if (!url) return undefined;
    const ctl = new AbortController();
    let pending = [];
    let timer = null;
    setLines([]);
    setEnd(null);
    // Lines arrive in bursts: render at most every 100 ms.
    const flush = () => {
      timer = null;
      const add = pending;
      pending = [];
      setLines((old) => {
        const all = old.concat(add);
        return all.length > cap ? all.slice(all.length - cap) : all;
      });
    };
    follow(url, {
      signal: ctl.signal,
      resumable,
      onLine: (l) => {
        pending.push(l);
        if (!timer) timer = setTimeout(flush, 100);
      },
      onEnd: (e) => {
        if (timer) { clearTimeout(timer); flush(); }
        setEnd(e);
      },
      onRestart: () => { pending = []; setLines([]); },
    });
    return () => {
      ctl.abort();
      if (timer) clearTimeout(timer);
    };
  }, [url]);
  return { lines, end };
}
