/** A model's licensed lineage drawn as a graph: ancestors above, the model at the bottom, laid out by dagre. */
import dagre from '@dagrejs/dagre';
import { Background, Controls, MarkerType, ReactFlow, type Edge, type Node } from '@xyflow/react';
import { useMemo } from 'react';

export interface LineageRef {
  id: string;
  name: string;
  depth: number;
}
export interface LineageEdgeData {
  parentModelId: string;
  childModelId: string;
  relation: string;
  royaltyPolicy: string;
  royaltyShareBps: number;
}

const W = 200;
const H = 56;

export function LineageGraph({ model, ancestors, edges }: { model: { id: string; name: string }; ancestors: LineageRef[]; edges: LineageEdgeData[] }) {
  const { nodes, links } = useMemo(() => {
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: 'TB', nodesep: 40, ranksep: 70 });
    g.setDefaultEdgeLabel(() => ({}));
    const all = [{ id: model.id, name: model.name, depth: 0 }, ...ancestors];
    for (const n of all) g.setNode(n.id, { width: W, height: H });
    for (const e of edges) g.setEdge(e.parentModelId, e.childModelId);
    dagre.layout(g);
    const nodes: Node[] = all.map((n) => {
      const p = g.node(n.id);
      return {
        id: n.id,
        position: { x: p.x - W / 2, y: p.y - H / 2 },
        data: { label: n.depth === 0 ? `${n.name} (this model)` : n.name },
        ariaLabel: n.depth === 0 ? `${n.name}, this model` : `${n.name}, ancestor at depth ${n.depth}`,
        className: n.depth === 0 ? 'node self' : 'node',
        draggable: false,
        connectable: false,
        style: { width: W },
      };
    });
    const links: Edge[] = edges.map((e) => ({
      id: `${e.parentModelId}->${e.childModelId}`,
      source: e.parentModelId,
      target: e.childModelId,
      label: `${e.relation} · ${e.royaltyPolicy} ${(e.royaltyShareBps / 100).toFixed(2)} %`,
      markerEnd: { type: MarkerType.ArrowClosed },
      focusable: false,
    }));
    return { nodes, links };
  }, [model.id, model.name, ancestors, edges]);
  return (
    <figure className="lineage" aria-label={`Lineage of ${model.name}`}>
      <figcaption>Licensed lineage: {ancestors.length} ancestors, {edges.length} edges (the list below says the same)</figcaption>
      <div className="lineage-canvas">
        <ReactFlow nodes={nodes} edges={links} fitView fitViewOptions={{ maxZoom: 1 }} nodesDraggable={false} nodesConnectable={false} proOptions={{ hideAttribution: true }}>
          <Background />
          <Controls showInteractive={false} />
        </ReactFlow>
      </div>
    </figure>
  );
}
