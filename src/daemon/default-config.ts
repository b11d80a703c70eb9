/**
 * What `vadc start` serves without --config: the default lab (`vadc lab up`): VMs v-vm1 and v-vm2 at
 * 10.0.0.11/.12 with HTTP on 8080 and 8081, the VIP 10.0.0.100:80, and the lab's private OVSDB.
 */
export const DEFAULT_LAB_CONFIG = `# vadc's embedded default: serves the default lab (vadc lab up)
controller:
  listen: tcp:127.0.0.1:6653
  echo_interval: 5
ovsdb: unix:/tmp/vadc-lab-vadc/db.sock
services:
  - name: web
    vip: 10.0.0.100
    protocol: tcp
    port: 80
    scheduler: rr
    idle_timeout: 30
    fin_timeout: 2
    health:
      type: http
      path: /
      interval: 1
      timeout: 0.5
    backends:
      - vnic: v-vm1
        ip: 10.0.0.11
        ports: [8080, 8081]
      - vnic: v-vm2
        ip: 10.0.0.12
        ports: [8080, 8081]
`;
