// Refreshes a view while what it shows is moving: `refresh()` redraws and answers whether to go on.
// Nothing is fetched while the tab is hidden; coming back refreshes at once.

export function createRefresher(refresh, intervalMs, onState = () => {}) {
  let timer = null;
  let wanted = false;
  let stopped = false;
  let running = false;

  function state() {
    if (!wanted) return 'idle';
    return document.hidden ? 'paused' : 'polling';
  }

  function schedule() {
    clearTimeout(timer);
    timer = null;
    if (!stopped && wanted && !document.hidden) timer = setTimeout(run, intervalMs);
    onState(state());
  }

  async function run() {
    if (stopped || running) return;
    running = true;
    try {
      wanted = Boolean(await refresh());
    } catch (error) {
      if (error?.name !== 'AbortError') wanted = true; // a failed refresh is tried again
    } finally {
      running = false;
    }
    schedule();
  }

  function onVisibility() {
    if (stopped) return;
    if (document.hidden) {
      clearTimeout(timer);
      timer = null;
      onState(state());
    } else if (wanted) {
      run();
    }
  }
  document.addEventListener('visibilitychange', onVisibility);

  return {
    /** After a draw: keep refreshing or not. */
    want(again) {
      wanted = again;
      schedule();
    },
    /** Refresh now (after an action that changed what is shown). */
    now: run,
    stop() {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    },
  };
}
