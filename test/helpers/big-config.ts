/** A valid configuration of `services` services with 10 backends each (~800 bytes per service). */
export function bigConfig(services: number): string {
  let text = 'services:\n';
  for (let i = 0; i < services; i++) {
    text += `  - name: svc${i}\n    vip: 10.${(i >> 8) & 255}.${i & 255}.1\n    port: 80\n    backends:\n`;
    for (let j = 0; j < 10; j++) text += `      - { vnic: v${i}-${j}, ip: 10.200.${j}.${(i % 250) + 1}, ports: [8080, 8081], weight: 2 }\n`;
  }
  return text;
}
