import GraphQLJSON from 'graphql-type-json';

export default GraphQLJSON;
