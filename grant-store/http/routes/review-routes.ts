import { z } from 'zod';
import { ReviewIdSchema } from '../../../shared/domain/common';
import { ReviewStateSchema } from '../../../shared/domain/review';
import { parseOrThrow } from '../../../shared/errors';
import { completeReview, getReview, listReviews } from '../../service/review-service';
import { query } from '../parse';
import type { RoutePlugin } from '../route-context';

const IdParams = z.strictObject({ id: ReviewIdSchema });
const ListQuery = z.strictObject({ state: ReviewStateSchema.optional() });

/** Post-incident reviews: opened by the store, completed by someone other than the requester. */
export const registerReviewRoutes: RoutePlugin = (app, ctx) => {
  const id = (params: unknown) => parseOrThrow(IdParams, params, 'path').id;
  app.get('/v1/reviews', async (request) => ({ reviews: await listReviews(ctx.deps, ctx.caller(request), query(ListQuery, request.query).state) }));
  app.get('/v1/reviews/:id', async (request) => getReview(ctx.deps, ctx.caller(request), id(request.params)));
  app.post('/v1/reviews/:id/complete', async (request) => completeReview(ctx.deps, ctx.caller(request), id(request.params), request.body));
};
