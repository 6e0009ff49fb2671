/**
 * Two node addresses on a loopback subnet picked at random (127.10-209.x.2 and .3), for clusters
 * that tests and benchmarks start, so that one of someone's on 127.0.0.2-3 is left alone.
 */
export function spareNodeAddresses(): [string, string] {
  const subnet = `127.${10 + Math.floor(Math.random() * 200)}.${1 + Math.floor(Math.random() * 250)}`;
  return [`${subnet}.2`, `${subnet}.3`];
}
