// Lab.up checks its options before it touches the system, so these need neither root nor OVS.
import { Lab, LabError } from '../../../src/lab';

describe('Lab.up option checks', () => {
  it.each([
    [{ vms: -1 }, /vms must be a whole number from 0 to 90/],
    [{ vms: 1.5 }, /vms must be a whole number/],
    [{ clients: 155 }, /clients must be a whole number from 0 to 154/],
    [{ controller: '127.0.0.1:6653' }, /not an OVS target like tcp:127.0.0.1:6653/],
  ])('rejects %j', async (opts, message) => {
    const attempt = Lab.up(opts);
    await expect(attempt).rejects.toBeInstanceOf(LabError);
    await expect(attempt).rejects.toMatchObject({ code: 'bad-option' });
    await expect(attempt).rejects.toThrow(message);
  });

  it('rejects a bad name before anything else', async () => {
    await expect(Lab.up({ name: 'Bad!' })).rejects.toMatchObject({ code: 'bad-name' });
    await expect(Lab.down('Bad!')).rejects.toMatchObject({ code: 'bad-name' });
  });
});
