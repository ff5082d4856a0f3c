// The page's /ws connection: reconnects with back-off (1 s doubling to 30 s, each wait drawn
// between half and all of it, so that pages do not all come back at the same moment after a
// gateway restart) and sends the page's subscription again after every (re)connect, so the
// gateway always knows which device the page shows live.

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;

export class LiveSocket {
  /**
   * @param handlers {onMessage(text), onOpen(reconnected), onState(live), onRefused()}:
   *   onRefused when a connection closed without ever opening (the gateway away, or the
   *   session over)
   * @param subscription () => the subscribe message to send now
   */
  constructor(handlers, subscription) {
    this.handlers = handlers;
    this.subscription = subscription;
    this.ws = null;
    this.sent = null; // the subscription last sent on this connection, as JSON text
    this.stopped = false;
  }

  /** Closes the connection for good (signed out). */
  stop() {
    this.stopped = true;
    this.ws?.close();
  }

  start() {
    let backoff = BACKOFF_MIN_MS;
    let everOpened = false;
    const open = () => {
      if (this.stopped) return;
      let opened = false;
      const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
      const ws = new WebSocket(`${scheme}//${location.host}/ws`);
      this.ws = ws;
      ws.addEventListener('open', () => {
        opened = true;
        backoff = BACKOFF_MIN_MS;
        this.sent = null;
        this.resubscribe();
        this.handlers.onState(true);
        this.handlers.onOpen(everOpened);
        everOpened = true;
      });
      ws.addEventListener('message', (ev) => this.handlers.onMessage(ev.data));
      ws.addEventListener('close', () => {
        if (this.ws === ws) this.ws = null;
        this.handlers.onState(false);
        if (this.stopped) return;
        if (!opened) this.handlers.onRefused?.();
        setTimeout(open, backoff * (0.5 + Math.random() / 2));
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      });
    };
    open();
  }

  /** Sends the current subscription if it changed (or the connection is new). */
  resubscribe() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    const text = JSON.stringify(this.subscription());
    if (text === this.sent) return;
    this.ws.send(text);
    this.sent = text;
  }
}
