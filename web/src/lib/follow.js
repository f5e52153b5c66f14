// Reads one of the API's NDJSON follow streams (?follow=1) with fetch and a
// ReadableStream: each line is a JSON object; empty lines are heartbeats;
// the last object (with "status", no "id") says the source ended. A stream
// cut before its end is opened again after the last line seen.
export async function follow(url, { onLine, onEnd, signal, resumable = true, onRestart }) {
  let after = 0;
  let delay = 500;
  while (!signal.aborted) {
    let ended = false;
    try {
      const u = url + (url.includes('?') ? '&' : '?') + 'follow=1' + (resumable && after ? `&after=${after}` : '');
      const res = await fetch(u, { credentials: 'same-origin', cache: 'no-store', signal });
      if (!res.ok) {
        let msg = `${res.status} ${res.statusText}`;
        try { msg = (await res.json()).error || msg; } catch { /* not JSON */ }
        onEnd?.({ error: msg, status: res.status });
        return;
      }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const text = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!text.trim()) continue;
          const obj = JSON.parse(text);
          if (obj.id === undefined && obj.status !== undefined && obj.text === undefined && obj.line === undefined) {
            ended = true;
            onEnd?.(obj);
          } else {
            if (typeof obj.id === 'number') after = obj.id;
            onLine(obj);
          }
        }
        delay = 500;
      }
    } catch (e) {
      if (signal.aborted) return;
    }
    if (ended || signal.aborted) return;
    // Cut off (server restart, idle timeout): open it again.
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 10000);
    if (!resumable) onRestart?.();
  }
}
