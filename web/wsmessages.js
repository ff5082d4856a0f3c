// The /ws messages of the page (docs/api.md, Live stream): the subscription it sends, and the
// samples a `frame` from the gateway holds. Pure: no DOM, unit-tested.

/** The kinds of message the page follows. */
export const KINDS = ['sample', 'failure', 'status', 'log', 'device_added', 'device_removed', 'lagged', 'alert'];

/**
 * The subscribe message for a route: every device's data, with samples in frames (at most one
 * message a tick); the live samples of the open device or of the devices on the map
 * (`mapDevices`). The open device's samples come one by one (`every_sample`), so that its
 * charts get every point as it arrives.
 */
export function subscribeMessage(route, mapDevices = []) {
  const open = route?.view === 'device' && typeof route.id === 'string' ? [route.id] : [];
  return {
    type: 'subscribe',
    devices: '*',
    kinds: KINDS,
    live: [...open, ...mapDevices],
    frames: true,
    every_sample: open,
  };
}

/**
 * The sample messages a `frame` holds, in its order; none when the message is no frame or its
 * samples are not a list. Anything in the list that is no sample message is left out.
 */
export function framedSamples(msg) {
  if (msg?.type !== 'frame' || !Array.isArray(msg.samples)) return [];
  return msg.samples.filter((s) => s !== null && typeof s === 'object' && s.type === 'sample');
}
