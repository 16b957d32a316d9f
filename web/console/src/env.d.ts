declare module 'virtual:schema' {
  import type { IntrospectionQuery } from 'graphql';
  const schema: IntrospectionQuery;
  export default schema;
}
declare module '*.css';
