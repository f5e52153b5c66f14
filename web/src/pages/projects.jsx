import { get, seg } from '../lib/api.js';
import { usePoll } from '../lib/hooks.js';
import { Time, ErrorNote, Empty, Loading, Table } from '../components/ui.jsx';

export function Projects() {
  const { data, error, loading } = usePoll(() => get('/projects'), [], 10000);
  return (
    <main id="main">
      <h1>Projects</h1>
      <ErrorNote error={error} what="Could not load the projects" />
      {loading && <Loading />}
      {data && data.length === 0 && (
        <Empty>No projects yet: create one with <code>ferry project create NAME</code>.</Empty>
      )}
      {data && data.length > 0 && (
        <Table head={['Project', 'Components', 'Created']} label="Projects">
          {data.map((p) => (
            <tr key={p.id}>
              <td><a href={`/projects/${seg(p.name)}`}>{p.name}</a></td>
              <td>{p.components}</td>
              <td><Time iso={p.created_at} /></td>
            </tr>
          ))}
        </Table>
      )}
    </main>
  );
}
