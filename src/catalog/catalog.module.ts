import { Module } from '@nestjs/common';
import { CatalogService } from './catalog.service';

/** Owns models and their cards, and the public catalog queries. */
@Module({ providers: [CatalogService], exports: [CatalogService] })
export class CatalogModule {}
