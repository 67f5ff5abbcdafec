import { completeReview, getReview, listReviews } from '../../service/review-service';
import type { RoutePlugin } from '../route-context';

/** Post-incident reviews: opened by the store, completed by someone other than the requester. */
export const registerReviewRoutes: RoutePlugin = (_app, { route, deps }) => {
  route('listReviews', async ({ caller, query }) => listReviews(deps, caller, query));
  route('getReview', async ({ caller, params }) => getReview(deps, caller, params.id));
  route('completeReview', async ({ caller, params, body }) => completeReview(deps, caller, params.id, body));
};
