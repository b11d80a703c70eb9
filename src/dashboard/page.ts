export function renderDashboard(): string {
  return '<!doctype html><title>vadc</title>';
}
