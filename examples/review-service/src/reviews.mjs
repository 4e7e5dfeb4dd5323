/** The performance reviews review-service holds (in memory, for the demo). */

/**
 * @typedef {object} Review
 * @property {string} id
 * @property {string} employee
 * @property {string} department
 * @property {number} rating  1..5
 * @property {string} summary
 */

/** @type {ReadonlyMap<string, Review>} */
export const REVIEWS = new Map(
  [
    { id: 'rv-eng-1', employee: 'ed', department: 'engineering', rating: 4, summary: 'Shipped the billing migration.' },
    { id: 'rv-eng-2', employee: 'carl', department: 'engineering', rating: 3, summary: 'Solid on-call quarter.' },
    { id: 'rv-sales-1', employee: 'sam', department: 'sales', rating: 5, summary: 'Closed the two largest deals.' },
    { id: 'rv-people-1', employee: 'pia', department: 'people', rating: 4, summary: 'Rebuilt onboarding.' },
  ].map((review) => [review.id, Object.freeze(review)]),
)

/** Per-department counts and average ratings: no names, no texts. */
export function aggregate() {
  /** @type {Record<string, { reviews: number, averageRating: number }>} */
  const byDepartment = {}
  for (const review of REVIEWS.values()) {
    const entry = (byDepartment[review.department] ??= { reviews: 0, averageRating: 0 })
    entry.averageRating = (entry.averageRating * entry.reviews + review.rating) / (entry.reviews + 1)
    entry.reviews += 1
  }
  return { year: 2026, byDepartment }
}
