import { Module } from '@nestjs/common';
import { CatalogQueryService } from './catalog-query.service';
import { CatalogRepository } from './catalog.repository';
import { CatalogResolver, TeacherModelConnectionResolver } from './catalog.resolver';
import { CatalogService } from './catalog.service';

/** Owns models and their cards, and the public catalog queries. */
@Module({
  providers: [CatalogService, CatalogQueryService, CatalogRepository, CatalogResolver, TeacherModelConnectionResolver],
  exports: [CatalogService],
})
export class CatalogModule {}
