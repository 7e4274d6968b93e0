// Feature modules register their routes, authenticators, binders and metadata here (side-effect imports).
export {};
